export function render(root) { root.textContent = "sample"; }

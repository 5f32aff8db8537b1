// Text: plain text only (set as textContent; never parsed as HTML).
import { el } from "./common.js";

export default {
  type: "text",
  defaults: () => ({ text: "", size: "m" }),
  async mount(node, widget) {
    node.append(el("div", { class: `w-text size-${widget.config.size || "m"}`, text: widget.config.text }));
    return { destroy() {} };
  },
};

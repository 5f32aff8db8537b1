from helan.cli import main

main()

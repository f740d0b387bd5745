from nncheck.cli import main

main()

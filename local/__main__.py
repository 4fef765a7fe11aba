from local.server import main

main()

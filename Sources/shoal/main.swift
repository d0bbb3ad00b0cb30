import ShoalCLI
ShoalCLIMain.main()

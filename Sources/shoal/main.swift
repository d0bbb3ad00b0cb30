import ShoalCLI

await ShoalCLIMain.main()

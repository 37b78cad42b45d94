using FitService.Cli;

return await FitCtl.RunAsync(args, CliContext.FromProcess());

using Karma.Cli;

return KarmaCli.Build().Parse(args).Invoke();

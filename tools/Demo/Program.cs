using Navigator.Demo;

return await DemoProgram.RunAsync(args);

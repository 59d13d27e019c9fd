module cogniverse.dev/smoke-runner

go 1.22

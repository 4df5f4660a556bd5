module example.com/acme/cli

go 1.22

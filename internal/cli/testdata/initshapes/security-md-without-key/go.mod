module example.com/acme/svc

go 1.22

module example.com/acme/web

go 1.24

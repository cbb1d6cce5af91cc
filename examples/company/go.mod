module example.com/company

go 1.24

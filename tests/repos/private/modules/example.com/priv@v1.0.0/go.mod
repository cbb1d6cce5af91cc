module example.com/priv

go 1.21

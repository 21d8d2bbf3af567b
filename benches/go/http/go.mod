module goro/benches/go/http

go 1.19

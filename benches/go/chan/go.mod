module goro/benches/go/chan

go 1.19

module github.com/rollbench/rollbench

go 1.26

require (
	github.com/go-python/cpy3 v0.2.0 // indirect
	github.com/spf13/pflag v1.1.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	gonum.org/v1/gonum v0.17.0 // indirect
)

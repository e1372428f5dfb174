// Command kdgbench is the Go half of scripts/bench.sh: it seeds moto_server
// with customer managed keys through the AWS SDK (far faster than the AWS
// CLI), measures moto's own DescribeKey throughput, and turns the raw
// measurements of a benchmark run into the results table, the lower bound
// and the target checks.
//
//	kdgbench seed       -endpoint URL -regions us-east-1,eu-west-1 -keys 250 -out manifest.json
//	kdgbench throughput -endpoint URL -region us-east-1 -concurrency 16 -duration 3s -out throughput.json
//	kdgbench report     -dir WORKDIR
//	kdgbench sim        -scenario org|single -seed 1 -addr-file F -world-out world.json
//	kdgbench scale-report -dir WORKDIR
//
// It talks only to the loopback endpoint it is given.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = runSeed(os.Args[2:])
	case "throughput":
		err = runThroughput(os.Args[2:])
	case "report":
		err = runReport(os.Args[2:])
	case "sim":
		err = runSim(os.Args[2:])
	case "scale-report":
		err = runScaleReport(os.Args[2:])
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kdgbench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kdgbench seed|throughput|report|sim|scale-report [flags] (see -h of each)")
}

// Marks tests/conformance as the module root. The suite is one package built once per Talos minor
// against that minor's machinery: go test -modfile=modules/<minor>.mod -tags talos_<minor>
// (run.sh does it for every minor; see README.md). With -modfile this file is not read.
module talosdocker/conformance

go 1.26

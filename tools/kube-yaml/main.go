// kube-yaml prints the JSON kubectl makes of each YAML document on stdin, one line per document
// (k8s.io/apimachinery's YAMLReader, then ToJSON: sigs.k8s.io/yaml over Go's yaml.v2), or
// "ERROR <message>" for a document it cannot convert. The manifest reader's tests compare with it.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func main() {
	r := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintln(out, "ERROR", err)
			return
		}
		j, err := utilyaml.ToJSON(doc)
		if err != nil {
			fmt.Fprintln(out, "ERROR", err)
			continue
		}
		fmt.Fprintln(out, string(j))
	}
}

// Command bigtarget is a scrape target with many active series, for
// bench/scrape.sh: -series gauges big_target_value{zone, pod, id} whose
// values change on every scrape, as a busy exporter's would.
//
//	bigtarget -listen 127.0.0.1:29399 -series 100000
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"sync/atomic"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:29399", "address to serve /metrics on")
	series := flag.Int("series", 100000, "number of series")
	flag.Parse()
	var scrapes atomic.Int64
	http.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		k := scrapes.Add(1)
		var b bytes.Buffer
		b.Grow(*series * 64)
		b.WriteString("# TYPE big_target_value gauge\n")
		for i := range *series {
			fmt.Fprintf(&b, "big_target_value{zone=\"z%d\",pod=\"p%d\",id=\"%d\"} ", i%10, i%1000, i)
			b.WriteString(strconv.FormatInt(k*int64(i%7+1)+int64((31*k+int64(i))%13), 10))
			b.WriteByte('\n')
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write(b.Bytes())
	})
	log.Fatal(http.ListenAndServe(*listen, nil))
}

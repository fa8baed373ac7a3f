"""Reads HdrHistogram interval logs with another implementation, Python's `hdrhistogram`
package (HdrHistogram_py), adds up the intervals of one tag, and prints what it found as
JSON: `intervals`, `count`, `p50_ns`, `p99_ns`, `max_ns`.

`tests/merge.rs` runs it on logs that sttbench wrote and compares the figures with
`sttbench merge`: the check that the files are readable by other HdrHistogram tools.

Usage: read_hdr_logs.py TAG LOG...
"""

import json
import sys

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

# The reader needs a template histogram; decoded intervals keep their own settings.
LOWEST, HIGHEST, DIGITS = 1, 60 * 10**9, 3


def main():
    tag, paths = sys.argv[1], sys.argv[2:]
    total = HdrHistogram(LOWEST, HIGHEST, DIGITS)
    intervals = 0
    for path in paths:
        reader = HistogramLogReader(path, HdrHistogram(LOWEST, HIGHEST, DIGITS))
        while True:
            interval = reader.get_next_interval_histogram()
            if interval is None:
                break
            if interval.get_tag() == tag:
                total.add(interval)
                intervals += 1
    print(json.dumps({
        "intervals": intervals,
        "count": total.get_total_count(),
        "p50_ns": total.get_value_at_percentile(50),
        "p99_ns": total.get_value_at_percentile(99),
        "max_ns": total.get_max_value(),
    }))


if __name__ == "__main__":
    main()

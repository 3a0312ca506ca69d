#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Parse every Documentation/*.rst with docutils; print TAP; fail on any warning or error."""
import io
import pathlib
import sys

import docutils.core

top = pathlib.Path(__file__).resolve().parent.parent
docs = sorted((top / "Documentation").glob("*.rst"))
failed = 0
print(f"1..{len(docs)}")
for i, doc in enumerate(docs, 1):
    err = io.StringIO()
    docutils.core.publish_doctree(
        doc.read_text(),
        source_path=str(doc),
        settings_overrides={"warning_stream": err, "report_level": 2, "halt_level": 5},
    )
    if err.getvalue().strip():
        failed += 1
        print(f"not ok {i} - {doc.name}")
        for line in err.getvalue().strip().splitlines()[:10]:
            print(f"# {line}")
    else:
        print(f"ok {i} - {doc.name}")
sys.exit(1 if failed else 0)

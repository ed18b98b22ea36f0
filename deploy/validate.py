"""Validates rendered Kubernetes objects offline (called by deploy/validate).

Kubernetes kinds go through kubernetes-validate in strict mode (unknown
fields are errors); custom resources through the JSON schemas in
deploy/schemas/<Kind>.json. A kind with neither is an error, so a new CRD
cannot slip in unchecked. Prints one line per object and a summary.
"""
import argparse
import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml

# The oldest Kubernetes the manifests must work on: native gRPC probes are
# GA from 1.27.
KUBERNETES_VERSION = "1.29.0"
CUSTOM_GROUPS = ("kafka.strimzi.io/", "monitoring.coreos.com/")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--overlay", required=True)
    ap.add_argument("--schemas", required=True)
    ap.add_argument("rendered")
    args = ap.parse_args()
    schemas = pathlib.Path(args.schemas)
    docs = [d for d in yaml.safe_load_all(open(args.rendered)) if d]
    failures = 0
    for doc in docs:
        kind, api = doc.get("kind", "?"), doc.get("apiVersion", "?")
        name = f"{args.overlay}: {kind}/{doc.get('metadata', {}).get('name', '?')}"
        try:
            if api.startswith(CUSTOM_GROUPS):
                path = schemas / f"{kind}.json"
                if not path.exists():
                    raise ValueError(f"no schema {path} for {api} {kind}")
                jsonschema.validate(doc, json.loads(path.read_text()))
            else:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as e:
            path = "/".join(str(p) for p in getattr(e, "absolute_path", getattr(e, "path", [])))
            print(f"FAIL {name}: {path}: {e.message}")
            failures += 1
        except Exception as e:  # schema missing, unknown kind or version
            print(f"FAIL {name}: {e}")
            failures += 1
        else:
            print(f"ok   {name}")
    print(f"{args.overlay}: {len(docs) - failures} passed, {failures} failed")
    return 1 if failures or not docs else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmarks of jaxaug against its peers (augmax, dm_pix, gstools, powerbox).

Run everything with `make bench` or `python -m research.benchmarks.run`; see
`research/benchmarks/README.md` for what each benchmark measures and how the peer
pipelines differ from jaxaug's.
"""

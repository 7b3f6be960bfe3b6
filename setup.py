from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = {}
for line in (here / "skhash" / "__init__.py").read_text().splitlines():
    if line.startswith("__version__"):
        exec(line, version)

setup(
    name="skhash",
    version=version["__version__"],
    description="Semantic hashing of documents (NASH) and fast Hamming search, scikit-learn style",
    long_description=(here / "README.rst").read_text(),
    long_description_content_type="text/x-rst",
    license="BSD-3-Clause",
    packages=find_packages(include=["skhash", "skhash.*"]),
    python_requires=">=3.10",
    install_requires=[
        "scikit-learn>=1.6",
        # 2.13.0 is the CPU wheel these machines install first; an open upper end would
        # let pip pull a multi-GB CUDA build of a newer release.
        "torch>=2.2,<=2.13.0",
        "numpy>=2.0",
        "scipy>=1.10",
        "pandas>=2.0",
        # Compiled Hamming kernels: numpy XOR-popcount scans take 3-16 ms a query on 1M
        # codes, the numba kernel beats faiss (benchmarks/bench_search.py).
        "numba>=0.60",
        # Already installed with scikit-learn (which requires it); named because the LSA
        # smoothing of NASH's targets runs its SVD on one BLAS thread through it, so that
        # fits do not depend on the thread count.
        "threadpoolctl>=3.1",
    ],
    extras_require={
        "tests": ["pytest>=7", "hypothesis>=6"],
        "docs": ["sphinx>=7", "numpydoc>=1.6", "sphinx-gallery>=0.15", "matplotlib>=3.7"],
        "benchmarks": ["faiss-cpu>=1.8", "matplotlib>=3.7"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Text Processing :: Indexing",
    ],
)

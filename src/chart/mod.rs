//! Charts: the Chart.yaml model and its checks, loading a chart directory (with `.helmignore`
//! applied the way Helm applies it), and writing the byte-reproducible `.tgz` archive.

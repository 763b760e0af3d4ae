# The gossip-sim image that deploy/kubernetes/ runs: gossip-sim on the PATH, the shipped
# scenarios in /scenarios (a ConfigMap mounted there replaces them), results in /results.
#
#   docker build -t gossip-sim:0.1.0 .
#
# The tag is the version in Cargo.toml; the Jobs name it with imagePullPolicy: IfNotPresent,
# so load or push it where the cluster's nodes find it (kind load docker-image, minikube image
# load, or your registry's name in front of the tag).

# Build: the toolchain this project is tested with, on the Debian release of the runtime stage,
# so the binary links against the same glibc.
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY benches benches
RUN cargo build --release --locked --bin gossip-sim

# Run: a slim Debian of the same release, no toolchain, not root.
FROM debian:12.11-slim
COPY --from=build /src/target/release/gossip-sim /usr/local/bin/gossip-sim
COPY scenarios /scenarios
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /results gossip \
    && mkdir /results \
    && chown gossip:gossip /results
USER 10001:10001
WORKDIR /results
ENTRYPOINT ["gossip-sim"]
CMD ["--help"]

# syntax=docker/dockerfile:1
# infisical-gitops: the Rust binary (glibc, rustls) on a distroless base, running as non-root.
#
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     -t infisical-gitops:0.1.0 .
#
# The final image holds the binary, CA certificates and glibc (distroless/cc), nothing else:
# no shell, no package manager.

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
ENV CARGO_TERM_COLOR=never
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin infisical-gitops \
 && install -D -m 0755 target/release/infisical-gitops /out/infisical-gitops

FROM gcr.io/distroless/cc-debian12:nonroot
# The binary reports its Cargo version (`infisical-gitops --version`); the labels carry the
# version and the Git revision of the build.
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="infisical-gitops" \
      org.opencontainers.image.description="GitOps reconciler for the Infisical secrets manager" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/infisical-gitops /usr/local/bin/infisical-gitops
# distroless "nonroot": uid/gid 65532, matching deploy/ (runAsUser/runAsGroup 65532).
USER 65532:65532
WORKDIR /var/lib/infisical-gitops
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/infisical-gitops"]
CMD ["--help"]

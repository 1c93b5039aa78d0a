# ksink: build on Debian 12 (bookworm) with the project's own dependency
# script, run on a slim Debian 12 with only the runtime libraries, as a
# non-root user. The config is read from /etc/ksink/ksink.yaml (mount your
# own over it; deploy/k8s does); /healthz answers on http.listen, which must
# not be loopback-only for the HEALTHCHECK and for Prometheus: the shipped
# example is overridden below to 0.0.0.0:8083.
FROM debian:12 AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
COPY package.json package-lock.json ./
RUN ./scripts/deps.sh
COPY . .
RUN BUILD_DIR=/src/build ./scripts/build.sh -DKS_TESTS=OFF -DKS_BENCH=OFF -DCMAKE_BUILD_TYPE=Release

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libuv1 libh2o0.13 libyajl2 libcurl4 libzstd1 libsnappy1v5 \
      libssl3 libyaml-0-2 libpcre2-8-0 zlib1g ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/ksink ksink \
 && mkdir -p /var/lib/ksink/lake /etc/ksink && chown ksink /var/lib/ksink/lake
COPY --from=build /src/build/ksink /usr/local/bin/ksink
COPY conf/ksink.yaml /etc/ksink/ksink.yaml
COPY conf/schemas /etc/ksink/schemas
RUN sed -i 's#listen: 127.0.0.1:8083#listen: 0.0.0.0:8083#' /etc/ksink/ksink.yaml
USER ksink
EXPOSE 8083
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8083/healthz >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/ksink"]
CMD ["run", "-c", "/etc/ksink/ksink.yaml"]

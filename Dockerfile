# ksink: build on Debian 12 with the project's own dependency script, run on
# a slim Debian 12 with only the runtime libraries.
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
      librdkafka1 libuv1 libyajl2 libcurl4 libzstd1 libsnappy1v5 libssl3 \
      libyaml-0-2 libpcre2-8-0 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/ksink ksink \
 && mkdir -p /var/lib/ksink/lake /etc/ksink && chown ksink /var/lib/ksink/lake
COPY --from=build /src/build/ksink /usr/local/bin/ksink
COPY conf/ksink.yaml /etc/ksink/ksink.yaml
COPY conf/schemas /etc/ksink/schemas
USER ksink
EXPOSE 8083
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ksink"]
CMD ["run", "-c", "/etc/ksink/ksink.yaml"]

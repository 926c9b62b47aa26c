# The KMS image: the Quarkus fast-jar built by `./mvnw -B -DskipTests package -pl kms-server -am`.
# Build from the repository root: docker build -f deploy/kms.Dockerfile -t teekms/kms-server:0.1.0 .
# Base image pinned by digest: replace the PLACEHOLDER (all-zero) digest with the digest of the release you build on
# (`docker buildx imagetools inspect eclipse-temurin:17-jre`); the KMS measurement covers the resulting image.
FROM eclipse-temurin:17-jre@sha256:0000000000000000000000000000000000000000000000000000000000000000
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/teekms --create-home teekms
WORKDIR /opt/teekms
COPY --chown=10001 kms-server/target/quarkus-app/lib/ lib/
COPY --chown=10001 kms-server/target/quarkus-app/*.jar ./
COPY --chown=10001 kms-server/target/quarkus-app/app/ app/
COPY --chown=10001 kms-server/target/quarkus-app/quarkus/ quarkus/
# Default user 10001. On a TD, docker-compose.yaml and the Kubernetes manifests run it as uid 0 with every capability
# dropped: the TD's configfs-tsm report directory and CCEL table are root-owned (see there).
USER 10001
EXPOSE 8443 9000
# RA-TLS certificates carrying GPU evidence exceed JSSE's default handshake message limit: accept up to 128 KiB (8
# GPUs plus margin) and keep clients' certificates out of session tickets (docs/ra-tls.md §6; KmsMain sets the same).
ENV JAVA_OPTS="-Djdk.tls.maxHandshakeMessageSize=131072 -Djdk.tls.server.enableSessionTicketExtension=false"
ENTRYPOINT ["sh", "-c", "exec java $JAVA_OPTS -jar /opt/teekms/quarkus-run.jar"]

# miniprom's container image: `make image` builds the static binary (UI
# embedded, Kubernetes discovery built in) and lays out the other files in
# build/image/ (scripts/image-context.sh), which is this file's build context.
# COPY steps only: nothing runs at build time, so any podman or docker builds
# it without pulling a base image.
FROM scratch

COPY etc/passwd etc/group /etc/
COPY etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bin/miniprom /bin/miniprom
COPY etc/miniprom/ /etc/miniprom/
# /miniprom/memory is where the RAM-backed directory is mounted (a tmpfs,
# or an emptyDir with medium: Memory): miniprom refuses to start when it is
# not RAM-backed or is too small, saying how to mount one.
# /miniprom/snapshot is for a volume on a disk.
COPY --chown=65534:65534 miniprom/ /miniprom/
# /tmp, world-writable with the sticky bit (--storage.memory.dir=heap keeps
# its private directory there).
COPY fs/ /

USER 65534:65534
WORKDIR /miniprom
EXPOSE 9090
ENTRYPOINT ["/bin/miniprom"]
# As in Prometheus's image, arguments after the image name replace these.
CMD ["--config.file=/etc/miniprom/prometheus.yml", \
     "--web.config.file=/etc/miniprom/web-config.yml", \
     "--storage.memory.dir=/miniprom/memory"]

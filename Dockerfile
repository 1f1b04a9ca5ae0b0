# The image is the wheel, installed like any package: tests/test_packaging.py builds the same
# wheel from the same files, installs it in a clean venv, migrates and serves.

# Build stage: vendored scripts (npm), compressed static files, then the wheel that carries them.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends npm make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md Makefile package.json package-lock.json ./
COPY server ./server
COPY media ./media
COPY web ./web
RUN make web/static/vendor/hls.light.min.js web/static/vendor/leaflet/leaflet.js \
    && pip install --no-cache-dir Brotli \
    && python -m server.assets \
    && pip wheel --no-cache-dir --no-deps -w /wheels .

# Run stage: no source tree and no editable install, only what the wheel installs.
FROM python:3.11-slim-bookworm
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
ENV SIDANG_HOST=0.0.0.0 SIDANG_MEDIA_DIR=/data/recordings SIDANG_DATA_DIR=/data/var
WORKDIR /data
EXPOSE 8080
CMD ["sh", "-c", "sidang db upgrade && sidang serve"]

FROM python:3.11-slim-bookworm AS app
RUN apt-get update && apt-get install -y --no-install-recommends npm make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md package.json package-lock.json ./
COPY server ./server
COPY media ./media
COPY web ./web
RUN pip install --no-cache-dir . \
    && npm ci --no-audit --no-fund \
    && mkdir -p web/static/vendor && cp node_modules/hls.js/dist/hls.light.min.js web/static/vendor/ \
    && python -m server.assets
ENV SIDANG_HOST=0.0.0.0 SIDANG_MEDIA_DIR=/data/recordings SIDANG_DATA_DIR=/data/var
EXPOSE 8080
CMD ["sh", "-c", "sidang db upgrade && sidang serve"]

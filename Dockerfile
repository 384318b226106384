# Production image for `yhteys serve` and `yhteys worker` (see docker-compose.yml).
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM python:3.11-slim-bookworm
RUN useradd --system --home /app yhteys
WORKDIR /app
COPY pyproject.toml README.md ./
COPY channels channels
COPY config config
COPY inbox inbox
COPY router router
COPY web web
RUN pip install --no-cache-dir .
COPY --from=assets /app/node_modules node_modules
USER yhteys
# The code runs from site-packages, so the pages' npm packages are named, not found beside it.
ENV YHTEYS_HTTP_HOST=0.0.0.0 YHTEYS_SMTP_HOST=0.0.0.0 YHTEYS_ASSETS_DIR=/app/node_modules
EXPOSE 8080 2525
CMD ["yhteys", "serve"]

# One image for every app of the platform; the command picks the app (see docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY gateway ./gateway
COPY kam ./kam
RUN pip install --no-cache-dir . && useradd --system --uid 10001 kam
USER kam
EXPOSE 8000
# e.g. uvicorn --factory services.scoring.app:create_app --host 0.0.0.0 --port 8000
CMD ["uvicorn", "--factory", "gateway.app:create_app", "--host", "0.0.0.0", "--port", "8000"]

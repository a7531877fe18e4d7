# One image for web, worker and beat (docker-compose.yml picks the command); the command lines and
# their settings are in project/processes.py.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 WEB_HOST=0.0.0.0 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN DJANGO_ENV=development python manage.py collectstatic --noinput \
    && useradd --create-home scores && mkdir -p /app/.data /tmp/metrics && chown scores /app/.data /tmp/metrics
USER scores
EXPOSE 8000
CMD ["python", "-m", "project.processes", "web"]

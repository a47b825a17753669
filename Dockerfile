# One image for the web server and the workers. GPU workers run the same image with the NVIDIA
# runtime (see docker-compose.yml); torch's wheels carry their CUDA libraries.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY studyapp studyapp
COPY detector detector
COPY analysis analysis
RUN pip install . && pip install --no-deps gan-face-generate==1.1.1

COPY manage.py ./
COPY templates templates
COPY experiments experiments
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

RUN useradd --create-home beholder
USER beholder
EXPOSE 8000
CMD ["gunicorn", "studyapp.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4"]

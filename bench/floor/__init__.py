"""The framework's floor for bench/trial_load.py: the product's settings plus one bare Django
view doing one indexed SELECT and one INSERT, served by the same gunicorn as the trial loop."""

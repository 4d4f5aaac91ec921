from django.apps import AppConfig


class JtbdConfig(AppConfig):
    name = "jtbd"
    verbose_name = "Jobs-to-be-done catalogue"

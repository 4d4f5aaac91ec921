from django.core.management.base import BaseCommand

from surveys.services import dispatch_pending


class Command(BaseCommand):
    help = "Dispatch background requests that could not be sent when they were made."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"Dispatched {dispatch_pending()} pending request(s).")

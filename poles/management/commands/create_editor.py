from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

EDITORS = "Éditeurs"


class Command(BaseCommand):
    help = (
        "Crée un compte d'éditeur (groupe « Éditeurs ») pour l'adresse donnée et affiche "
        "un lien à usage unique qui lui permet de choisir son mot de passe."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="adresse électronique de l'éditeur, qui sert d'identifiant")
        parser.add_argument(
            "--site",
            default="http://127.0.0.1:8000",
            help="adresse du portail, pour construire le lien (défaut : http://127.0.0.1:8000)",
        )

    def handle(self, *args, email, site, **options):
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"« {email} » n'est pas une adresse électronique valide.") from None
        User = get_user_model()
        if User.objects.filter(username__iexact=email).exists():
            raise CommandError(f"Un compte existe déjà pour {email}.")
        try:
            editors = Group.objects.get(name=EDITORS)
        except Group.DoesNotExist:
            raise CommandError("Le groupe « Éditeurs » n'existe pas : lancez d'abord « manage.py migrate ».") from None

        user = User(username=email, email=email, is_staff=True)
        user.set_unusable_password()
        user.save()
        user.groups.add(editors)

        path = reverse(
            "password_reset_confirm",
            kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)},
        )
        days = settings.PASSWORD_RESET_TIMEOUT // (24 * 3600)
        self.stdout.write(self.style.SUCCESS(f"Compte d'éditeur créé pour {email}."))
        self.stdout.write(f"Lien à usage unique pour choisir le mot de passe (valable {days} jours) :")
        self.stdout.write(f"{site.rstrip('/')}{path}")

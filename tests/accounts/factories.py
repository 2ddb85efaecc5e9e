import factory

from accounts.models import GmailAccount, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")


class GmailAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GmailAccount

    user = factory.SubFactory(UserFactory)
    email = factory.Sequence(lambda n: f"mailbox{n}@example.com")
    google_sub = factory.Sequence(lambda n: f"10{n:019d}")

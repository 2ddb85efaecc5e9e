from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mail", "0010_threadlabel_row")]

    operations = [
        migrations.AddField(
            model_name="outboxaction",
            name="draft_gmail_id",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="outboxaction",
            name="sent_gmail_id",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]

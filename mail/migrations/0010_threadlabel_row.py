from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0009_drop_unread_thread_history_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="threadlabel",
            name="snippet",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="threadlabel",
            name="is_unread",
            field=models.BooleanField(default=False),
        ),
        # Until the next recompute of each thread, its rows show the thread's own fields
        # (what every list showed before).
        migrations.RunSQL(
            "UPDATE mail_threadlabel SET snippet = t.snippet, is_unread = t.is_unread "
            "FROM mail_thread t WHERE t.id = mail_threadlabel.thread_id",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]

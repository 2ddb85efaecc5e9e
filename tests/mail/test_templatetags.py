import datetime as dt

from django.utils import timezone

from mail.templatetags.mail_format import iso, short_date


def test_short_date_shows_time_today_month_day_this_year_and_full_date_before():
    now = timezone.now()
    this_year = now.replace(month=1, day=2, hour=9) if now.month > 1 else now - dt.timedelta(days=2)
    long_ago = dt.datetime(2019, 3, 4, 5, 6, tzinfo=dt.UTC)

    assert short_date(now) == f"{now:%H:%M}"
    assert short_date(long_ago) == "2019-03-04"
    assert short_date(this_year) == f"{this_year:%b} {this_year.day}"
    assert short_date(None) == "" and iso(None) == ""
    assert iso(long_ago) == "2019-03-04T05:06:00+00:00"

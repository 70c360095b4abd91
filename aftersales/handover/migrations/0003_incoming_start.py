from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('handover', '0002_search_text')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Handover',
            name='incoming_start',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]

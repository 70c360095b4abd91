from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('handover', '0001_handover')]

    initial = False

    operations = [
        ops.AddField(
            model_name='HandoverEntry',
            name='search_text',
            field=fields.TextField(default='', unique=False),
        ),
    ]

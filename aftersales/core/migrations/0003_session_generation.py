from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0002_user_locale')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='session_generation',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
